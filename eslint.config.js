// Lint rules that keep package boundaries and the pure Raft core honest.
import tseslint from "typescript-eslint";

const deepImportPatterns = [
  { group: ["@kubemu/*/*"], message: "Import another package only through its public index (no deep imports)." },
  { group: ["**/packages/*/src/**", "../../*/src/**", "../../../*/src/**"], message: "Import another package by name, not by path." },
];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "bench/results/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "no-restricted-imports": ["error", { patterns: deepImportPatterns }],
    },
  },
  {
    // The Raft core is a pure state machine: no I/O, no timers, no wall clock, no global randomness.
    files: ["packages/etcd-raft/src/raft/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            ...deepImportPatterns,
            { group: ["node:*", "fs", "net", "http", "https", "os", "child_process", "timers", "timers/*", "ws", "worker_threads", "dgram"], message: "The Raft core must not do I/O or use timers." },
          ],
        },
      ],
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
