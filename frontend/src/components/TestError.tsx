// A test page's error, said once: a refusal naming fields lists them by
// their labels (its detail repeats the same list, so it is not shown too).
import { ApiError } from "../api/client";
import { fieldLabel } from "../lib/testEdit";
import { ErrorBox } from "./ui";

export function TestError({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.fields.length > 0) {
    const lead = error.status === 409 ? "Fill these in first:" : "Not saved; please correct:";
    const fields = error.fields.map((f) => ({ ...f, field: fieldLabel(f.field) }));
    return <ErrorBox error={new ApiError(error.status, error.code, lead, fields, error.currentState)} />;
  }
  return <ErrorBox error={error} />;
}
