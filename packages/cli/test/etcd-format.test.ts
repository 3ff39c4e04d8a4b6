import { describe, expect, it } from "vitest";
import { runsUntilInterrupted } from "../src/cli.js";
import { keyRange } from "../src/etcd/commands.js";
import { parseEndpoint } from "../src/etcd/endpoints.js";
import { borderedTable, humanBytes } from "../src/etcd/format.js";

describe("kubemu etcd helpers", () => {
  it("prints sizes like etcdctl (go-humanize SI units)", () => {
    expect(humanBytes(0)).toBe("0 B");
    expect(humanBytes(9)).toBe("9 B");
    expect(humanBytes(55)).toBe("55 B");
    expect(humanBytes(1500)).toBe("1.5 kB");
    expect(humanBytes(82_624)).toBe("83 kB");
    expect(humanBytes(1_234_567)).toBe("1.2 MB");
  });

  it("draws etcdctl's bordered table: centred header, right-aligned cells", () => {
    expect(borderedTable(["ID", "NAME"], [["abc", "etcd-0"], ["d", "e"]])).toEqual([
      "+-----+--------+",
      "| ID  |  NAME  |",
      "+-----+--------+",
      "| abc | etcd-0 |",
      "|   d |      e |",
      "+-----+--------+",
    ]);
  });

  it("turns KEY and --prefix into a range like etcdctl, refusing an empty key", () => {
    expect(keyRange("/a", false)).toEqual({ key: "/a" });
    expect(keyRange("/a", true)).toEqual({ key: "/a", rangeEnd: new Uint8Array(Buffer.from("/b")) });
    expect(keyRange("", true)).toEqual({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
    expect(() => keyRange("", false)).toThrow(/key must not be empty/);
  });

  it("accepts endpoints as ws://IP:PORT, http://IP:PORT, wss://IP:PORT, https://IP:PORT or IP:PORT on loopback only", () => {
    expect(parseEndpoint("127.0.10.1:2379")).toBe("ws://127.0.10.1:2379");
    expect(parseEndpoint("ws://127.0.10.1:2379/")).toBe("ws://127.0.10.1:2379");
    expect(parseEndpoint("http://127.0.10.1:2379")).toBe("ws://127.0.10.1:2379");
    expect(() => parseEndpoint("10.0.0.1:2379")).toThrow(/loopback/);
    expect(parseEndpoint("https://127.0.10.1:2379")).toBe("wss://127.0.10.1:2379");
    expect(parseEndpoint("wss://127.0.10.1:2379")).toBe("wss://127.0.10.1:2379");
    expect(() => parseEndpoint("unix://127.0.0.1:1")).toThrow(/ws:\/\/IP:PORT/);
    expect(() => parseEndpoint("127.0.0.1")).toThrow(/address:port/);
  });

  it("knows which commands run until Ctrl-C, skipping flag values", () => {
    expect(runsUntilInterrupted(["logs", "etcd-0", "-f"])).toBe(true);
    expect(runsUntilInterrupted(["etcd", "watch", "/a"])).toBe(true);
    expect(runsUntilInterrupted(["--state-dir", "/tmp/x", "etcd", "--endpoints", "127.0.0.1:2379", "watch", "/a"])).toBe(true);
    expect(runsUntilInterrupted(["etcd", "put", "watch", "logs"])).toBe(false);
    expect(runsUntilInterrupted(["--cluster", "logs", "status"])).toBe(false);
    expect(runsUntilInterrupted(["status"])).toBe(false);
  });
});
