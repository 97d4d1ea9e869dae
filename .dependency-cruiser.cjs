// dependency-cruiser: the layers of src/ (`npm run lint`). Lower layers never import higher ones.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle ties modules into one: split the shared piece out or invert it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'model-is-the-bottom',
      severity: 'error',
      comment: 'src/model/ holds the domain values every layer uses: it imports nothing of ours but model/ and the excerpt helper its errors need.',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: ['^src/model/', '^src/excerpt\\.ts$'] },
    },
    {
      name: 'kernel-below-reconcile',
      severity: 'error',
      comment: 'src/kernel/ talks to the kernel; the reconciler decides what to tell it. kernel/ must not import reconcile/.',
      from: { path: '^src/kernel/' },
      to: { path: '^src/reconcile/' },
    },
    {
      name: 'sources-below-reconcile',
      severity: 'error',
      comment: 'Sources only say which routes they want; they must not import the reconciler.',
      from: { path: '^src/sources/' },
      to: { path: '^src/reconcile/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: {},
      to: { couldNotResolve: true, pathNot: ['native/icmp6/build/Release/.*\\.node$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(dist|native)/' },
  },
};
