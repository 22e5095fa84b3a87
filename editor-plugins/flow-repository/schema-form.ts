// The sidebar's parameter form: the one model in contracts/fleet/parameter-form.ts, shared with the fleet console.
export * from '../../contracts/fleet/parameter-form';
