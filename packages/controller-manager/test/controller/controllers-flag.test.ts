import { describe, expect, it } from "vitest";
import { FlagError } from "@kubemu/common";
import type { ControllerDescriptor } from "../../src/controller/context.js";
import { enabledControllers } from "../../src/server/controllers-flag.js";

const desc = (name: string, aliases: string[], disabledByDefault = false): ControllerDescriptor => ({ name, aliases, disabledByDefault, informers: () => undefined, run: async () => undefined });
const all = [desc("deployment-controller", ["deployment"]), desc("cronjob-controller", ["cronjob"]), desc("bootstrap-signer-controller", ["bootstrapsigner"], true)];
const names = (flag: string) => enabledControllers(flag.split(","), all).map((c) => c.name);

describe("--controllers", () => {
  it("'*' enables every controller on by default, not the disabled-by-default ones", () => {
    expect(names("*")).toEqual(["deployment-controller", "cronjob-controller"]);
  });

  it("'-foo' disables foo, by its name or an old alias", () => {
    expect(names("*,-cronjob")).toEqual(["deployment-controller"]);
    expect(names("*,-cronjob-controller")).toEqual(["deployment-controller"]);
  });

  it("naming a controller enables it, without '*' only the named ones", () => {
    expect(names("deployment")).toEqual(["deployment-controller"]);
    expect(names("*,bootstrapsigner")).toEqual(["deployment-controller", "cronjob-controller", "bootstrap-signer-controller"]);
  });

  it("an unknown name is a flag error in upstream's words", () => {
    expect(() => names("*,-nosuch")).toThrow(FlagError);
    expect(() => names("nosuch")).toThrow('"nosuch" is not in the list of known controllers');
  });
});
