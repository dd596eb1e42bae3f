// A test page's error: a refusal naming fields lists them by their labels.
import { ApiError } from "../api/client";
import { fieldLabel } from "../lib/testEdit";
import { ErrorBox } from "./ui";

export function TestError({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.fields.length > 0) {
    const fields = error.fields.map((f) => ({ ...f, field: fieldLabel(f.field) }));
    return <ErrorBox error={new ApiError(error.status, error.code, error.message, fields, error.currentState)} />;
  }
  return <ErrorBox error={error} />;
}
