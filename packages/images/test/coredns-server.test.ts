/**
 * The coredns server in process on 127.1.169.x:10053 (no API: the hosts plugin answers): malformed
 * datagrams are dropped without harm, a storm of queries stuck on a silent upstream does not hold
 * up other answers, max_concurrent turns the excess away with REFUSED, a refused upstream is
 * SERVFAIL at once, TCP answers length-prefixed messages on one connection, and cache hits
 * (answered without a promise) are counted and logged as every other answer.
 */
import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket, { type DecodedPacket } from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverConfig } from "../src/coredns/config.js";
import { parseCorefile } from "../src/coredns/corefile.js";
import { CoreDns } from "../src/coredns/server.js";

const IP = "127.1.169.21";
const SILENT = "127.1.169.22";
const COREFILE = `.:10053 {
    errors
    hosts {
       127.1.169.99 here.test
       fallthrough
    }
    forward . ${SILENT}:10053 {
       max_concurrent 500
    }
}
refused.test:10053 {
    forward . ${SILENT}:10054
}
cached.test:10053 {
    log
    hosts {
       127.1.169.98 a.cached.test
    }
    cache 30
}
`;

let dns: CoreDns;
let silent: Socket;
const lines: string[] = [];

type Reply = DecodedPacket & { rcode?: string };

function ask(name: string, type = "A", id = Math.floor(Math.random() * 65535)): Promise<Reply | undefined> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, 3000);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as never }] }), 10053, IP);
  });
}

beforeAll(async () => {
  // An upstream that reads every query and never answers.
  silent = createSocket("udp4");
  silent.on("message", () => undefined);
  await new Promise<void>((r) => silent.bind(10053, SILENT, r));
  dns = new CoreDns({ configs: parseCorefile(COREFILE, "Corefile").map((b) => serverConfig(b, "Corefile")), bindIP: IP, apiConfig: () => ({ server: "http://127.0.0.1:1" }), out: (l) => lines.push(l) });
  await dns.start();
});

afterAll(async () => {
  await dns?.stop();
  silent?.close();
});

describe("coredns server", () => {
  it("drops malformed datagrams and keeps answering", async () => {
    const s = createSocket("udp4");
    for (const junk of [Buffer.from("x"), Buffer.alloc(12, 0xff), Buffer.from("\u0000\u0001garbage garbage garbage")]) s.send(junk, 10053, IP);
    s.close();
    const r = await ask("here.test");
    expect(r?.answers?.map((a) => (a as { data: string }).data)).toEqual(["127.1.169.99"]);
  });

  it("a storm stuck on a silent upstream neither delays other answers nor grows past max_concurrent", async () => {
    const storm = Array.from({ length: 800 }, (_, i) => ask(`q${i}.stuck.test`));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    const r = await ask("here.test");
    const ms = performance.now() - t0;
    expect(r?.rcode).toBe("NOERROR");
    expect(ms).toBeLessThan(500);
    const results = await Promise.all(storm);
    const refused = results.filter((x) => x?.rcode === "REFUSED").length;
    expect(refused).toBeGreaterThanOrEqual(300);
    expect(lines.some((l) => l.startsWith("[ERROR] plugin/errors: 5 q") && l.includes("concurrent queries exceeded maximum 500"))).toBe(true);
  }, 20_000);

  it("a refused upstream is SERVFAIL within milliseconds", async () => {
    const t0 = performance.now();
    const r = await ask("x.refused.test");
    expect(r?.rcode).toBe("SERVFAIL");
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("answers several queries on one TCP connection", async () => {
    const c = connect({ host: IP, port: 10053 });
    const got: DecodedPacket[] = [];
    await new Promise<void>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      c.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (got.length === 2) resolve();
        }
      });
      c.on("error", reject);
      c.write(Buffer.concat([1, 2].map((id) => dnsPacket.streamEncode({ type: "query", id, questions: [{ name: "here.test", type: "A" }] }))));
    });
    c.destroy();
    expect(got.map((p) => p.id).sort()).toEqual([1, 2]);
    expect(got.every((p) => p.answers?.length === 1)).toBe(true);
  });

  it("counts and logs cache hits as upstream does, the counters read at scrape time", async () => {
    const series = (text: string, name: string) => text.split("\n").filter((l) => l.startsWith(name) && l.includes('zone="cached.test."'));
    expect(series(await dns.metrics.scrape(), "coredns_dns_requests_total")).toEqual([]);
    expect(await dns.metrics.scrape()).not.toContain("coredns_cache_entries{");
    for (let i = 0; i < 3; i++) expect((await ask("a.cached.test"))?.answers?.map((a) => (a as { data: string }).data)).toEqual(["127.1.169.98"]);
    const text = await dns.metrics.scrape();
    expect(series(text, "coredns_dns_requests_total")).toEqual(['coredns_dns_requests_total{server="dns://:10053",zone="cached.test.",view="",proto="udp",family="1",type="A"} 3']);
    expect(series(text, "coredns_dns_responses_total")).toEqual([
      'coredns_dns_responses_total{server="dns://:10053",zone="cached.test.",view="",rcode="NOERROR",plugin="hosts"} 1',
      'coredns_dns_responses_total{server="dns://:10053",zone="cached.test.",view="",rcode="NOERROR",plugin="cache"} 2',
    ]);
    expect(series(text, "coredns_dns_request_duration_seconds_count")).toEqual(['coredns_dns_request_duration_seconds_count{server="dns://:10053",zone="cached.test.",view="",type="A"} 3']);
    expect(text).toContain('coredns_cache_requests_total{server="dns://:10053",zones="cached.test.",view=""} 3');
    expect(text).toContain('coredns_cache_hits_total{server="dns://:10053",type="success",zones="cached.test.",view=""} 2');
    expect(text).toContain('coredns_cache_misses_total{server="dns://:10053",zones="cached.test.",view=""} 1');
    expect(text).toContain('coredns_cache_entries{server="dns://:10053",type="success",zones="cached.test.",view=""} 1');
    // A second scrape adds nothing twice.
    expect(series(await dns.metrics.scrape(), "coredns_dns_requests_total")).toEqual(['coredns_dns_requests_total{server="dns://:10053",zone="cached.test.",view="",proto="udp",family="1",type="A"} 3']);
    const logged = lines.filter((l) => l.includes('"A IN a.cached.test. udp'));
    expect(logged).toHaveLength(3);
    for (const l of logged) expect(l).toMatch(/^\[INFO\] 127\.0\.0\.1:\d+ - \d+ "A IN a\.cached\.test\. udp \d+ false 512" NOERROR qr,aa,rd \d+ \d+(\.\d+)?s$/);
  });
});
