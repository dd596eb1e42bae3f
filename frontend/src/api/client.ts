// The typed API client (openapi-fetch over the generated schema). The session
// is the HttpOnly `aegis_token` cookie; unsafe requests carry the CSRF token
// from the readable `aegis_csrf` cookie. A 401 sends the user to the login
// page and back to where they were.
import createClient, { defaultPathSerializer, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

export function csrfToken(): string | undefined {
  const entry = document.cookie.split("; ").find((c) => c.startsWith("aegis_csrf="));
  return entry ? decodeURIComponent(entry.slice("aegis_csrf=".length)) : undefined;
}

/** Set by the app: what to do when the session is gone. */
let onSessionExpired: () => void = () => {};
export function handleSessionExpiry(callback: () => void) {
  onSessionExpired = callback;
}

const session: Middleware = {
  onRequest({ request }) {
    if (!["GET", "HEAD", "OPTIONS"].includes(request.method)) {
      const token = csrfToken();
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
  onResponse({ request, response }) {
    // Sign-in and "who am I" answer 401 to a visitor who never signed in; the
    // router sends those to the login page without calling it an expiry.
    const probe = ["/api/v1/auth/login", "/api/v1/auth/me"].some((p) => new URL(request.url).pathname === p);
    if (response.status === 401 && !probe) onSessionExpired();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(session);

/** An API failure, in the words of its problem body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Schemas["FieldError"][] = [],
    readonly currentState?: string,
  ) {
    super(message);
  }
}

/** A non-empty string, else undefined. */
function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function isFieldError(value: unknown): value is Schemas["FieldError"] {
  return (
    typeof value === "object" && value !== null &&
    "field" in value && typeof value.field === "string" &&
    "message" in value && typeof value.message === "string"
  );
}

/** Reads a `Problem` body defensively: a proxy or a crash may answer with anything. */
export function toError(status: number, body: unknown): ApiError {
  const problem = typeof body === "object" && body !== null ? body : {};
  const detail = "detail" in problem ? text(problem.detail) : undefined;
  const title = "title" in problem ? text(problem.title) : undefined;
  const code = "code" in problem && typeof problem.code === "string" ? problem.code : "error";
  const fields = "errors" in problem && Array.isArray(problem.errors) ? problem.errors.filter(isFieldError) : [];
  const currentState = "current_state" in problem && typeof problem.current_state === "string" ? problem.current_state : undefined;
  const message = detail || title || (status ? `request failed (${status})` : "the server cannot be reached");
  return new ApiError(status, code, message, fields, currentState);
}

/** What openapi-fetch answers, in the part these helpers read. */
type Answer<T> = Promise<{ data?: T; error?: unknown; response: Response }>;

/** Awaits a call, throwing network failures and problems as ApiError. */
async function settle<T>(call: Answer<T>) {
  let result;
  try {
    result = await call;
  } catch {
    throw toError(0, undefined);
  }
  if (result.error !== undefined || !result.response.ok) throw toError(result.response.status, result.error);
  return result;
}

/** The body of a successful answer, or the problem thrown as an ApiError.
 *  For operations that answer with a body; `done` is for 204 ones, and the
 *  second half of the parameter type refuses those here. */
export async function unwrap<T>(
  call: Answer<T> & (undefined extends T ? "this operation answers without a body: use done()" : unknown),
): Promise<T> {
  const { data, response } = await settle(call);
  // openapi-fetch gives no data for an empty body: a promised body is missing.
  if (data === undefined) throw toError(response.status, undefined);
  return data;
}

/** Waits for an operation that answers 204, throwing its problem as an ApiError. */
export async function done(call: Answer<undefined>): Promise<void> {
  await settle(call);
}

/** The operations that take a file by multipart POST. */
export type UploadPath = {
  [P in keyof paths]: paths[P] extends { post: { requestBody: { content: { "multipart/form-data": unknown } } } } ? P : never;
}[keyof paths];

type UploadOperation<P extends UploadPath> = paths[P]["post"];
type Json = "application/json; charset=utf-8";

/** What a successful upload to `P` answers, as the generated document says. */
export type Uploaded<P extends UploadPath> = {
  [S in keyof UploadOperation<P>["responses"]]: S extends 200 | 201 | 202
    ? UploadOperation<P>["responses"][S] extends { content: { [J in Json]: infer Body } } ? Body : never
    : never;
}[keyof UploadOperation<P>["responses"]];

/** The path parameters `P` needs: required when it has any. */
type UploadParams<P extends UploadPath> =
  UploadOperation<P>["parameters"]["path"] extends Record<string, string>
    ? { params: UploadOperation<P>["parameters"]["path"] }
    : { params?: undefined };

export type UploadRequest<P extends UploadPath> = UploadParams<P> & {
  file: File;
  /** Small form fields, sent before the file (the server reads the form in order). */
  fields?: Record<string, string>;
  onProgress?: (fraction: number) => void;
};

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Uploads one file as the form's `file` part, with progress (fetch cannot
 *  report upload progress, so this is the one request outside openapi-fetch;
 *  it keeps the client's CSRF header and session-expiry handling). */
export function upload<P extends UploadPath>(path: P, request: UploadRequest<P>): Promise<Uploaded<P>> {
  const { file, fields = {}, onProgress = () => {} } = request;
  const url = defaultPathSerializer(path, request.params ?? {});
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", file, file.name);
  // Like openapi-fetch, trusts the JSON of a success to be what the document
  // promises for this path.
  const answer = (xhr: XMLHttpRequest): Uploaded<P> => JSON.parse(xhr.responseText);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.withCredentials = true;
    const token = csrfToken();
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      if (xhr.status === 401) onSessionExpired();
      if (xhr.status < 200 || xhr.status >= 300) return reject(toError(xhr.status, parseJson(xhr.responseText)));
      try {
        resolve(answer(xhr));
      } catch {
        reject(toError(xhr.status, undefined));
      }
    };
    xhr.onerror = () => reject(toError(0, undefined));
    xhr.send(form);
  });
}
