import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CatalogFileError, ImageCatalog, containerArgv, loadUserCatalog, matchExecutable, parseReference, programPath, qualifiedName } from "../src/index.js";

describe("image references", () => {
  it("normalizes as docker does", () => {
    expect(qualifiedName(parseReference("nginx"))).toBe("docker.io/library/nginx:latest");
    expect(qualifiedName(parseReference("nginx:alpine"))).toBe("docker.io/library/nginx:alpine");
    expect(qualifiedName(parseReference("luksa/kubia:v2"))).toBe("docker.io/luksa/kubia:v2");
    expect(qualifiedName(parseReference("registry.k8s.io/pause:3.10"))).toBe("registry.k8s.io/pause:3.10");
    expect(qualifiedName(parseReference("localhost:5000/app"))).toBe("localhost:5000/app:latest");
  });
  it("rejects bad references with upstream's words", () => {
    expect(() => parseReference("Nginx")).toThrow('couldn\'t parse image reference "Nginx": invalid reference format: repository name must be lowercase');
    expect(() => parseReference("nginx:")).toThrow("invalid reference format");
  });
});

describe("the catalog", () => {
  const cat = ImageCatalog.withUserFile(undefined);
  it("resolves the seeds' images and not unknown ones", () => {
    for (const img of ["nginx", "nginx:1.25", "nginx:alpine", "registry.k8s.io/nginx-slim:0.8", "gcr.io/google-samples/hello-app:1.0", "luksa/kubia", "luksa/kubia:v3", "luksa/kubia-unhealthy", "busybox", "busybox:1.36", "alpine", "ubuntu", "redis", "registry.k8s.io/pause:3.10", "luksa/fortune:env", "luksa/fortune:args", "luksa/ssd-monitor", "luksa/kubectl-proxy:1.6.2", "kubetm/app", "kubetm/init", "kiamol/ch03-sleep", "kiamol/ch05-pi", "registry.k8s.io/test-webserver", "registry.k8s.io/goproxy:0.1", "gcr.io/google-containers/busybox", "tutum/dnsutils", "curlimages/curl"]) {
      expect(cat.resolve(img), img).toBeDefined();
    }
    expect(cat.resolve("doesnotexist/foo")).toBeUndefined();
    expect(cat.resolve("luksa/kubia:v9")).toBeUndefined();
    expect(cat.resolve("nginx")!.name).toBe("docker.io/library/nginx:latest");
    expect(cat.resolve("nginx")!.imageID).toMatch(/^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    expect(cat.resolve("nginx:alpine")!.entry.sizeBytes).toBeLessThan(cat.resolve("nginx")!.entry.sizeBytes);
  });
  it("command replaces ENTRYPOINT (and CMD); args replace CMD", () => {
    const nginx = cat.resolve("nginx")!.entry;
    expect(containerArgv(nginx, undefined, undefined)).toEqual(["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]);
    expect(containerArgv(nginx, undefined, ["sh", "-c", "echo hi"])).toEqual(["/docker-entrypoint.sh", "sh", "-c", "echo hi"]);
    expect(containerArgv(nginx, ["sh"], undefined)).toEqual(["sh"]);
    expect(containerArgv(nginx, ["sh"], ["-c", "x"])).toEqual(["sh", "-c", "x"]);
    expect(containerArgv(cat.resolve("busybox")!.entry, undefined, undefined)).toEqual(["sh"]);
  });
  it("argv prefixes map to the image's programs", () => {
    const kubia = cat.resolve("luksa/kubia:v3")!.entry;
    const m = matchExecutable(kubia, containerArgv(kubia, undefined, undefined));
    expect(m).toEqual({ executable: { program: "kubia", args: ["v3"] }, rest: [] });
    expect(matchExecutable(kubia, ["node", "-e", "1"])).toBeUndefined();
    expect(programPath("nginx")).toMatch(/\/packages\/images\/dist\/programs\/nginx\.js$/);
  });
  it("luksa/fortune:args takes its interval from args; kiamol/ch05-pi's dotnet command is the pi program", () => {
    const fortune = cat.resolve("luksa/fortune:args")!.entry;
    expect(matchExecutable(fortune, containerArgv(fortune, undefined, ["25"]))).toEqual({ executable: { program: "fortune", args: ["args"] }, rest: ["25"] });
    const pi = cat.resolve("kiamol/ch05-pi")!.entry;
    expect(matchExecutable(pi, ["dotnet", "Pi.Web.dll", "-m", "console", "-dp", "50"])!.rest).toEqual(["-m", "console", "-dp", "50"]);
  });
  it("user entries from images.yaml come first", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubemu-images-"));
    const file = join(dir, "images.yaml");
    writeFileSync(file, "images:\n  - image: myorg/app\n    tags: ['1.0']\n    entrypoint: [node, server.js]\n    program: /home/me/app/server.js\n    env: {PORT: 8080}\n  - image: nginx\n    cmd: [echo, mine]\n");
    const user = ImageCatalog.withUserFile(file);
    expect(user.resolve("myorg/app:1.0")!.entry).toMatchObject({ entrypoint: ["node", "server.js"], env: { PORT: "8080" } });
    expect(user.resolve("myorg/app:2.0")).toBeUndefined();
    expect(user.resolve("nginx")!.entry.cmd).toEqual(["echo", "mine"]);
    writeFileSync(file, "images: {}\n");
    expect(() => loadUserCatalog(file)).toThrow(CatalogFileError);
  });
});
