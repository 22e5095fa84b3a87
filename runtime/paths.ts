import path from 'node:path';

/** The package root (the folder holding package.json), whether running from dist/ or from a test. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(PACKAGE_ROOT, 'dist');
