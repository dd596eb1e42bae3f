import { Link, useSearchParams } from "react-router";
import type { Schemas } from "../api/client";
import { useMarkRead, useNotifications } from "../api/hooks/notifications";
import { Badge, Button, Card, Empty, ErrorBox, formatTime, Loading, Page, Pager } from "../components/ui";

type Notice = Schemas["NoticeView"];

const KIND_LABELS: Record<Notice["kind"], string> = {
  assigned: "Assigned",
  handed_to_blue: "Handed to blue",
  returned: "Returned",
  alert_opened: "Alert",
};

/** Where a notice leads: its test, or the alert inbox. */
function target(n: Notice): string {
  return n.test_id ? `/tests/${n.test_id}` : "/alerts";
}

export function Inbox() {
  const [params, setParams] = useSearchParams();
  const unreadOnly = params.get("show") !== "all";
  const offset = Number(params.get("offset") ?? 0);
  const notices = useNotifications(unreadOnly, offset);
  const markRead = useMarkRead();
  return (
    <Page
      title="Notifications"
      actions={<Button onClick={() => markRead.mutate(undefined)} disabled={markRead.isPending}>Mark all read</Button>}
    >
      <div className="mb-3 flex gap-2" role="group" aria-label="Show">
        <Button variant={unreadOnly ? "primary" : "secondary"} onClick={() => setParams({})}>Unread</Button>
        <Button variant={unreadOnly ? "secondary" : "primary"} onClick={() => setParams({ show: "all" })}>All</Button>
      </div>
      <ErrorBox error={notices.error ?? markRead.error} />
      <Card>
        {notices.isLoading ? <Loading /> : !notices.data?.items.length ? (
          <Empty>{unreadOnly ? "Nothing waits for you." : "No notices yet."}</Empty>
        ) : (
          <>
            <ul className="divide-y divide-line">
              {notices.data.items.map((n) => (
                <li key={n.id} className="flex flex-wrap items-center gap-3 py-3" data-notice={n.title}>
                  <Badge tone={n.kind === "alert_opened" ? "warn" : n.kind === "assigned" ? "neutral" : "blue"}>{KIND_LABELS[n.kind]}</Badge>
                  <div className="min-w-0 flex-1">
                    <Link
                      to={target(n)}
                      className={`text-accent underline ${n.read_at ? "" : "font-semibold"}`}
                      onClick={() => !n.read_at && markRead.mutate(n.id)}
                    >
                      {n.title}
                    </Link>
                    <p className="mt-1 text-xs text-muted">
                      {formatTime(n.created_at)}
                      {n.read_at ? ` · read ${formatTime(n.read_at)}` : " · unread"}
                      {n.emailed_at && " · e-mailed"}
                    </p>
                  </div>
                  {!n.read_at && <Button onClick={() => markRead.mutate(n.id)} aria-label={`Mark read: ${n.title}`}>Mark read</Button>}
                </li>
              ))}
            </ul>
            <Pager
              total={notices.data.total}
              limit={50}
              offset={offset}
              onPage={(o) => setParams(unreadOnly ? { offset: String(o) } : { show: "all", offset: String(o) })}
            />
          </>
        )}
      </Card>
    </Page>
  );
}
