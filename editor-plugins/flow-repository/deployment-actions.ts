// The sidebar's deployment buttons: the one model in contracts/fleet/deployment-actions.ts, shared with the fleet console.
export * from '../../contracts/fleet/deployment-actions';
