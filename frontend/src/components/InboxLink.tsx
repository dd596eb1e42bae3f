import { NavLink } from "react-router";
import { useUnreadCount } from "../api/hooks/notifications";

/**
 * The navigation's link to my notices (not "Inbox": the alerts page has a tab
 * of that name), with how many are unread: shown as a badge, read out as words.
 */
export function InboxLink({ className }: { className: string }) {
  const unread = useUnreadCount().data?.unread ?? 0;
  return (
    <NavLink to="/inbox" className={className}>
      Notifications
      {unread > 0 && (
        <>
          <span data-unread={unread} aria-hidden="true" className="ml-1.5 rounded-full bg-accent px-1.5 py-0.5 text-xs font-semibold text-panel">
            {unread > 99 ? "99+" : unread}
          </span>
          <span className="sr-only">, {unread} unread</span>
        </>
      )}
    </NavLink>
  );
}
