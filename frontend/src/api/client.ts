// The typed API client (openapi-fetch over the generated schema). The session
// is the HttpOnly `aegis_token` cookie; unsafe requests carry the CSRF token
// from the readable `aegis_csrf` cookie. A 401 sends the user to the login
// page and back to where they were.
import createClient, { type Middleware } from "openapi-fetch";
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
    readonly fields: { field: string; message: string }[] = [],
    readonly currentState?: string,
  ) {
    super(message);
  }
}

interface Problem {
  detail?: string;
  title?: string;
  code?: string;
  errors?: { field: string; message: string }[];
  current_state?: string;
}

export function toError(status: number, body: unknown): ApiError {
  const problem = (typeof body === "object" && body ? body : {}) as Problem;
  const message = problem.detail || problem.title || (status ? `request failed (${status})` : "the server cannot be reached");
  return new ApiError(status, problem.code ?? "error", message, problem.errors ?? [], problem.current_state);
}

/** Unwraps an openapi-fetch result, throwing the problem as an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result;
  try {
    result = await call;
  } catch {
    throw toError(0, undefined);
  }
  if (result.error !== undefined || !result.response.ok) throw toError(result.response.status, result.error);
  return result.data as T;
}

/** Uploads one file as the form's `file` part (after any small `fields`),
 *  with progress (fetch cannot report upload progress). */
export function upload<T>(
  url: string,
  file: File,
  onProgress: (fraction: number) => void = () => {},
  fields: Record<string, string> = {},
): Promise<T> {
  const form = new FormData();
  // Small fields first: the server reads the form in order.
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.withCredentials = true;
    const token = csrfToken();
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status === 401) onSessionExpired();
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else reject(toError(xhr.status, body));
    };
    xhr.onerror = () => reject(toError(0, undefined));
    xhr.send(form);
  });
}
