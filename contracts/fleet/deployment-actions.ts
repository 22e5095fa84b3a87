// Which actions a deployment in a given state offers: the same transitions the repository allows (a button
// that would only earn a 409 is not shown). Pure; the editor sidebar and the fleet console share it.

export type DeploymentAction = 'pause' | 'resume' | 'cancel' | 'rollback';

const FROM: Record<DeploymentAction, readonly string[]> = {
  pause: ['rolling out'],
  resume: ['paused', 'halted'],
  cancel: ['rolling out', 'paused', 'halted'],
  rollback: ['rolling out', 'paused', 'halted', 'completed'],
};

export const ACTION_LABELS: Record<DeploymentAction, { label: string; icon: string; title: string; confirm?: string }> = {
  pause: { label: 'Pause', icon: 'fa-pause', title: 'Release no further waves' },
  resume: { label: 'Resume', icon: 'fa-play', title: 'Release waves again' },
  cancel: {
    label: 'Cancel',
    icon: 'fa-ban',
    title: 'Stop it: devices still queued, pending or waiting go back to their previous version',
    confirm: 'Cancel this deployment? Devices still queued, pending or waiting go back to their previous version; devices already running it stay.',
  },
  rollback: {
    label: 'Roll back',
    icon: 'fa-undo',
    title: 'Every device it reached goes back to its previous version',
    confirm: 'Roll back this deployment? Every device it reached goes back to its previous version.',
  },
};

export function actionsFor(state: string): DeploymentAction[] {
  return (Object.keys(FROM) as DeploymentAction[]).filter((a) => FROM[a].includes(state));
}
