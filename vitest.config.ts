import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against package sources; processes they spawn run the built dist/.
    alias: {
      "@kubemu/common": src("common"),
      "@kubemu/etcd-raft": src("etcd-raft"),
      "@kubemu/apiserver": src("apiserver"),
      "@kubemu/scheduler": src("scheduler"),
      "@kubemu/controller-manager": src("controller-manager"),
      "@kubemu/images": src("images"),
      "@kubemu/kubelet": src("kubelet"),
      "@kubemu/kube-proxy": src("kube-proxy"),
    },
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
