import { useState, type FormEvent } from "react";
import { useUser } from "../api/auth";
import { useChangePassword, useUpdateMe } from "../api/hooks/session";
import { Button, Card, ErrorBox, Field, inputClass, Page } from "../components/ui";

/** Where my notices are e-mailed; an empty field removes the address. */
function NoticeEmail() {
  const user = useUser();
  const [email, setEmail] = useState(user.email ?? "");
  const update = useUpdateMe();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ email: email.trim() === "" ? null : email.trim() });
  };
  return (
    <Card title="Notices by e-mail" className="max-w-md">
      <form onSubmit={submit} className="space-y-3" aria-label="Notices by e-mail">
        <ErrorBox error={update.error} />
        {update.isSuccess && (
          <p role="status" className="text-sm">
            {update.data.email ? `Your notices go to ${update.data.email} too.` : "Your notices stay in the inbox only."}
          </p>
        )}
        <Field label="E-mail address" hint="Leave empty to get notices in the inbox only. E-mail goes out when the server has SMTP set up.">
          <input type="email" autoComplete="email" className={inputClass} value={email} onChange={(e) => setEmail(e.target.value)} maxLength={254} />
        </Field>
        <Button type="submit" disabled={update.isPending}>Save address</Button>
      </form>
    </Card>
  );
}

/** The signed-in user's own account: who they are, their password and where notices go. */
export function Account() {
  const user = useUser();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const change = useChangePassword();
  const mismatch = repeat.length > 0 && repeat !== next;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    change.mutate(
      { current_password: current, new_password: next },
      // Every other session ends; this one goes on under the new cookies.
      {
        onSuccess: () => {
          setCurrent("");
          setNext("");
          setRepeat("");
        },
      },
    );
  };
  return (
    <Page title="My account">
      <Card title={`${user.username} · ${user.role}`} className="max-w-md">
        <form onSubmit={submit} className="space-y-3" aria-label="Change password">
          <ErrorBox error={change.error} />
          {change.isSuccess && <p role="status" className="text-sm">Password changed. Your other sessions and API tokens have ended.</p>}
          <Field label="Current password"><input type="password" autoComplete="current-password" className={inputClass} value={current} onChange={(e) => setCurrent(e.target.value)} required /></Field>
          <Field label="New password" hint="At least 10 characters"><input type="password" autoComplete="new-password" className={inputClass} value={next} onChange={(e) => setNext(e.target.value)} required minLength={10} /></Field>
          <Field label="New password again"><input type="password" autoComplete="new-password" className={inputClass} value={repeat} onChange={(e) => setRepeat(e.target.value)} required /></Field>
          {mismatch && <p className="text-sm text-danger">The two new passwords differ.</p>}
          <Button type="submit" variant="primary" disabled={change.isPending || mismatch}>Change password</Button>
        </form>
      </Card>
      <NoticeEmail />
    </Page>
  );
}
