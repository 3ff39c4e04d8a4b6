import { describe, expect, it } from "vitest";
import { codeForReason, fromStatus, isConflict, isNotFound, newConflict, newInvalid, newNotFound, StatusError, StatusReason, toStatus } from "@kubemu/common";

describe("Status errors", () => {
  it("every reason has an HTTP code", () => {
    for (const reason of Object.values(StatusReason)) expect(codeForReason[reason]).toBeGreaterThanOrEqual(400);
  });

  it("round-trips through a plain object as the same error class", () => {
    const e = newNotFound({ resource: "pods" }, "web-0");
    const wire = JSON.parse(JSON.stringify(toStatus(e)));
    const back = fromStatus(wire);
    expect(back).toBeInstanceOf(StatusError);
    expect(isNotFound(back)).toBe(true);
    expect(back.status).toEqual(e.status);
    expect(back.message).toBe('pods "web-0" not found');
    expect(back.code).toBe(404);
  });

  it("keeps field paths in Invalid causes", () => {
    const e = newInvalid("Pod", "p", [{ reason: "FieldValueRequired", field: "spec.containers[0].image", message: "Required value" }]);
    expect(e.code).toBe(422);
    expect(e.status.details?.causes?.[0]?.field).toBe("spec.containers[0].image");
    expect(e.message).toContain("spec.containers[0].image: Required value");
  });

  it("turns foreign errors and malformed statuses into InternalError", () => {
    expect(toStatus(new Error("boom")).reason).toBe("InternalError");
    expect(fromStatus({ kind: "Nope" }).reason).toBe("InternalError");
    expect(isConflict(newConflict({ group: "apps", resource: "deployments" }, "d", "the object has been modified"))).toBe(true);
  });
});
