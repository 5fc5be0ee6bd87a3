// The hibernate request carries its sleep kind (issue 16: hibernate no longer guesses it from the
// reason's text); events sent before the field existed stay valid.
import { describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import { parseEvent } from "../../src/core/events";

const hibernate = (data: Record<string, unknown>) =>
  parseEvent({ name: "torpor/session.hibernate.requested", data: { sessionId: "ses_1", reason: "x", requestId: "r", ...data } });

describe("hibernate request events", () => {
  it("take the kind idle or request, and events without one", () => {
    expect(hibernate({ kind: "idle" }).data).toMatchObject({ kind: "idle" });
    expect(hibernate({ kind: "request" }).data).toMatchObject({ kind: "request" });
    expect(hibernate({}).data).not.toHaveProperty("kind");
  });

  it("refuse any other kind with a validation error", () => {
    let error: unknown;
    try {
      hibernate({ kind: "nap" });
    } catch (e) {
      error = e;
    }
    expect(isTorporError(error, "VALIDATION")).toBe(true);
  });
});
