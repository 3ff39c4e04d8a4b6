// Lint rules that keep package boundaries and the pure Raft core honest.
import tseslint from "typescript-eslint";

const deepImportPatterns = [
  { group: ["@kubemu/*/*"], message: "Import another package only through its public index (no deep imports)." },
  { group: ["**/packages/*/src/**", "../../*/src/**", "../../../*/src/**"], message: "Import another package by name, not by path." },
];

// Components talk to the API servers through the wire API (@kubemu/common's ApiClient), never by
// linking the server in: only the launcher (cli), the benchmarks, the cross-package tests and
// the apiserver itself may import it.
const noApiserverPattern = { group: ["@kubemu/apiserver"], message: "Only the apiserver itself, packages/cli, bench/ and test/ may import @kubemu/apiserver; components use the wire API (ApiClient in @kubemu/common)." };

// The pure Raft core imports nothing of the process around it: WAL, snapshots, MVCC, server.
const raftCorePatterns = [
  ...deepImportPatterns,
  { group: ["node:*", "fs", "net", "http", "https", "os", "child_process", "timers", "timers/*", "ws", "worker_threads", "dgram"], message: "The Raft core must not do I/O or use timers." },
  { group: ["**/wal", "**/wal/**", "**/snap", "**/snap/**", "**/mvcc", "**/mvcc/**", "**/server", "**/server/**"], message: "The Raft core is pure: it imports nothing of ../wal, ../snap, ../mvcc or ../server (they drive it)." },
  noApiserverPattern,
];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "bench/results/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "no-restricted-imports": ["error", { patterns: [...deepImportPatterns, noApiserverPattern] }],
    },
  },
  {
    files: ["packages/cli/**/*.ts", "packages/apiserver/**/*.ts", "bench/**/*.ts", "test/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: deepImportPatterns }] },
  },
  {
    // common is the bottom of the package graph: it imports no package of ours.
    files: ["packages/common/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [...deepImportPatterns, { group: ["@kubemu/*"], message: "@kubemu/common depends on no other kubemu package." }] }],
    },
  },
  {
    // The Raft core is a pure state machine: no I/O, no timers, no wall clock, no global randomness.
    files: ["packages/etcd-raft/src/raft/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: raftCorePatterns }],
      "no-restricted-globals": [
        "error",
        ...["setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate", "queueMicrotask", "process", "performance", "require", "fetch"].map((name) => ({ name, message: "The Raft core is pure: inject time and effects through its inputs." })),
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "The Raft core counts ticks, never wall time." },
        { object: "Math", property: "random", message: "Use the injected Rng." },
        { object: "crypto", property: "randomUUID", message: "Use the injected Rng." },
      ],
      "no-restricted-syntax": ["error", { selector: "NewExpression[callee.name='Date']", message: "The Raft core counts ticks, never wall time." }],
    },
  },
);
