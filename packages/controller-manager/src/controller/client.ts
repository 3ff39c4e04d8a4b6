/**
 * What a controller's sync writes through: the part of ApiClient controllers use. Unit tests pass
 * a FakeClient (test/fake-client.ts) that records every action instead.
 */
import type { ApiClient } from "@kubemu/common";

export type ControllerClient = Pick<ApiClient, "get" | "list" | "create" | "update" | "updateStatus" | "patch" | "delete" | "deleteCollection">;
