import { describe, expect, it } from "vitest";
import { ApiError, done, toError, unwrap } from "./client";

type Test = { id: string };

/** An openapi-fetch answer with `status`. */
function answer<T>(status: number, rest: { data?: T; error?: unknown }): Promise<{ data?: T; error?: unknown; response: Response }> {
  return Promise.resolve({ ...rest, response: new Response(null, { status }) });
}

describe("API answers", () => {
  it("read a problem body, and anything else without failing", () => {
    const error = toError(422, {
      code: "invalid_field",
      title: "Unprocessable",
      detail: "name is required",
      errors: [{ field: "name", message: "required" }, { field: 3 }],
      current_state: "draft",
    });
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.message, error.currentState]).toEqual([422, "invalid_field", "name is required", "draft"]);
    expect(error.fields).toEqual([{ field: "name", message: "required" }]);
    expect(toError(409, { title: "Conflict", detail: "" }).message).toBe("Conflict");
    expect(toError(502, "<html>bad gateway</html>")).toMatchObject({ code: "error", message: "request failed (502)", fields: [] });
    expect(toError(0, undefined).message).toBe("the server cannot be reached");
  });

  it("unwrap a body, throw a problem, and wait for a 204", async () => {
    await expect(unwrap(answer(200, { data: { id: "x" } }))).resolves.toEqual({ id: "x" });
    await expect(unwrap(answer<Test>(404, { error: { code: "not_found", detail: "no such test" } }))).rejects.toMatchObject({
      status: 404,
      code: "not_found",
      message: "no such test",
    });
    // A promised body that is missing is a failure, not `undefined` data.
    await expect(unwrap(answer<Test>(200, {}))).rejects.toMatchObject({ status: 200 });
    await expect(done(answer<undefined>(204, {}))).resolves.toBeUndefined();
    await expect(done(answer<undefined>(403, { error: { code: "forbidden" } }))).rejects.toMatchObject({ status: 403, code: "forbidden" });
    const offline: Promise<{ data?: Test; response: Response }> = Promise.reject(new TypeError("fetch failed"));
    await expect(unwrap(offline)).rejects.toMatchObject({ status: 0, message: "the server cannot be reached" });
  });
});
