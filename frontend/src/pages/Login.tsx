import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useLogin } from "../api/hooks/session";
import { Button, ErrorBox, Field, inputClass } from "../components/ui";

/** Only same-site paths are followed after sign-in. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function Login() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const login = useLogin();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const expired = params.get("expired") === "1";

  function submit(event: FormEvent) {
    event.preventDefault();
    login.mutate({ username, password }, { onSuccess: () => navigate(safeNext(params.get("next")), { replace: true }) });
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form onSubmit={submit} className="w-full max-w-sm space-y-4 rounded-lg border border-line bg-panel p-6 shadow">
        <h1 className="text-xl font-semibold">Sign in to Aegis</h1>
        {expired && <p className="text-sm text-muted">Your session ended. Sign in to continue where you were.</p>}
        <ErrorBox error={login.error} />
        <Field label="Username">
          <input className={inputClass} autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </Field>
        <Field label="Password">
          <input className={inputClass} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </Field>
        <Button variant="primary" type="submit" disabled={login.isPending} className="w-full justify-center">
          {login.isPending ? "Signing in…" : "Sign in"}
        </Button>
      </form>
    </main>
  );
}
