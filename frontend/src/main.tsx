import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, RouterProvider, useLocation, useRouteError } from "react-router";
import { UserProvider } from "./api/auth";
import { useMe } from "./api/hooks/session";
import { ApiError, handleSessionExpiry } from "./api/client";
import { Layout } from "./components/Layout";
import { ErrorBox, Loading } from "./components/ui";
import "./index.css";
import { Account } from "./pages/Account";
import { Admin } from "./pages/Admin";
import { AlertEvaluations, AlertInbox, AlertRules } from "./pages/Alerts";
import { CampaignDetail, CampaignsList } from "./pages/Campaigns";
import { Dashboard } from "./pages/Dashboard";
import { Inbox } from "./pages/Inbox";
import { Login } from "./pages/Login";
import { NewTest } from "./pages/NewTest";
import { Plugins } from "./pages/Plugins";
import { Reports } from "./pages/Reports";
import { TechniqueDetail, TechniquesList } from "./pages/Techniques";
import { TemplateDetail, TemplatesList } from "./pages/Templates";
import { TestDetail } from "./pages/TestDetail";
import { TestsList } from "./pages/Tests";

const saved = localStorage.getItem("aegis-theme");
document.documentElement.classList.toggle("dark", saved ? saved === "dark" : matchMedia("(prefers-color-scheme: dark)").matches);

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      retry: (count, error) => !(error instanceof ApiError && error.status > 0 && error.status < 500) && count < 2,
    },
  },
});

// A session that ends mid-work returns to the login page and then back here.
handleSessionExpiry(() => {
  if (window.location.pathname === "/login") return;
  const next = encodeURIComponent(window.location.pathname + window.location.search);
  queries.clear();
  window.location.assign(`/login?expired=1&next=${next}`);
});

function RequireUser({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isLoading) return <Loading what="Opening Aegis" />;
  if (me.error instanceof ApiError && me.error.status === 401) {
    return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }
  if (!me.data) return <main className="p-8"><ErrorBox error={me.error} /></main>;
  return <UserProvider user={me.data}>{children}</UserProvider>;
}

/** A page that threw: say so in words instead of a blank screen. */
function RouteError() {
  const error = useRouteError();
  return (
    <main className="mx-auto max-w-2xl p-8">
      <h1 className="mb-3 text-xl font-semibold">This page failed to load</h1>
      <ErrorBox error={error instanceof Error ? error : new Error(String(error))} />
      <a className="mt-4 inline-block text-accent underline" href="/">Back to the dashboard</a>
    </main>
  );
}

const router = createBrowserRouter([
  { path: "/login", element: <Login />, errorElement: <RouteError /> },
  {
    errorElement: <RouteError />,
    element: (
      <RequireUser>
        <Layout />
      </RequireUser>
    ),
    children: [
      { path: "/", element: <Dashboard /> },
      { path: "/coverage/compare", lazy: async () => ({ Component: (await import("./pages/SnapshotDiff")).SnapshotDiff }) },
      { path: "/tests", element: <TestsList /> },
      { path: "/tests/new", element: <NewTest /> },
      { path: "/tests/:id", element: <TestDetail /> },
      { path: "/campaigns", element: <CampaignsList /> },
      { path: "/campaigns/:id", element: <CampaignDetail /> },
      { path: "/techniques", element: <TechniquesList /> },
      { path: "/techniques/:id", element: <TechniqueDetail /> },
      { path: "/templates", element: <TemplatesList /> },
      { path: "/templates/:id", element: <TemplateDetail /> },
      { path: "/alerts", element: <AlertInbox /> },
      { path: "/alerts/rules", element: <AlertRules /> },
      { path: "/alerts/evaluations", element: <AlertEvaluations /> },
      { path: "/reports", element: <Reports /> },
      { path: "/plugins", element: <Plugins /> },
      { path: "/admin", element: <Admin /> },
      { path: "/account", element: <Account /> },
      { path: "/inbox", element: <Inbox /> },
      { path: "*", element: <main className="p-8">Nothing here. <a className="text-accent underline" href="/">Back to the dashboard</a></main> },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
