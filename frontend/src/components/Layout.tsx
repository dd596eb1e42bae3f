import { useEffect, useRef, useState } from "react";
import { Link, NavLink, Outlet, useLocation } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { useLogout } from "../api/hooks/session";
import { InboxLink } from "./InboxLink";

function useTheme(): [boolean, () => void] {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains("dark"));
  useEffect(() => {
    document.documentElement.classList.toggle("dark", dark);
    localStorage.setItem("aegis-theme", dark ? "dark" : "light");
  }, [dark]);
  return [dark, () => setDark((d) => !d)];
}

/**
 * The menu that holds the navigation below `xl` (the width where nine links
 * and the account controls fit one row). Opening it moves focus to its first
 * link; it closes on Escape (focus goes back to its button), on a click
 * outside, when focus leaves it and when a link is followed. On wide screens
 * it is always shown and the button is hidden.
 */
function useMenu() {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const { pathname } = useLocation();
  useEffect(() => setOpen(false), [pathname]);
  useEffect(() => {
    if (!open) return;
    panel.current?.querySelector<HTMLElement>("a, button")?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setOpen(false);
      button.current?.focus();
    };
    const inside = (target: EventTarget | null) =>
      target instanceof Node && (panel.current?.contains(target) || button.current?.contains(target));
    const onPointer = (event: PointerEvent) => !inside(event.target) && setOpen(false);
    const onFocus = (event: FocusEvent) => !inside(event.target) && setOpen(false);
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("focusin", onFocus);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("focusin", onFocus);
    };
  }, [open]);
  return { open, toggle: () => setOpen((o) => !o), button, panel };
}

export function Layout() {
  const user = useUser();
  const logout = useLogout();
  const [dark, toggleTheme] = useTheme();
  const menu = useMenu();
  const links = [
    ["/", "Dashboard"],
    ["/tests", "Tests"],
    ["/campaigns", "Campaigns"],
    ["/techniques", "Techniques"],
    ["/templates", "Templates"],
    ["/alerts", "Alerts"],
    ["/reports", "Reports"],
    ...(hasRole(user, "admin") ? [["/plugins", "Plugins"], ["/admin", "Admin"]] : []),
  ];
  const quiet = "whitespace-nowrap rounded-md px-3 py-1.5 text-sm text-muted hover:text-ink";
  return (
    <div className="min-h-screen">
      <a href="#content" className="sr-only focus:not-sr-only">
        Skip to content
      </a>
      <header className="border-b border-line bg-panel">
        <div className="mx-auto flex max-w-[1600px] flex-wrap items-center gap-1 px-4 py-2 lg:px-8 xl:flex-nowrap">
          <Link to="/" className="mr-4 text-lg font-bold tracking-tight">
            <span className="text-red-side">Ae</span>
            <span className="text-blue-side">gis</span>
          </Link>
          <button
            ref={menu.button}
            type="button"
            className={`ml-auto inline-flex items-center gap-2 xl:hidden ${quiet}`}
            aria-expanded={menu.open}
            aria-controls="main-menu"
            onClick={menu.toggle}
          >
            <svg aria-hidden="true" viewBox="0 0 16 16" className="size-4" fill="none" stroke="currentColor" strokeWidth="1.75" strokeLinecap="round">
              {menu.open ? <path d="M3.5 3.5l9 9M12.5 3.5l-9 9" /> : <path d="M2 4h12M2 8h12M2 12h12" />}
            </svg>
            Menu
          </button>
          <div
            id="main-menu"
            ref={menu.panel}
            className={`${menu.open ? "flex" : "hidden"} basis-full flex-col gap-2 border-t border-line pt-2 pb-1 xl:flex xl:basis-auto xl:flex-1 xl:flex-row xl:items-center xl:border-0 xl:p-0`}
          >
            <nav aria-label="Main" className="flex flex-col gap-1 xl:flex-row xl:items-center">
              {links.map(([to, label]) => (
                <NavLink
                  key={to}
                  to={to}
                  end={to === "/"}
                  className={({ isActive }) =>
                    `whitespace-nowrap rounded-md px-3 py-2 text-sm xl:px-2.5 xl:py-1.5 ${isActive ? "bg-accent/15 font-semibold text-accent" : "text-muted hover:text-ink"}`
                  }
                >
                  {label}
                </NavLink>
              ))}
            </nav>
            <div className="flex flex-wrap items-center gap-1 border-t border-line pt-2 text-sm xl:ml-auto xl:flex-nowrap xl:gap-3 xl:border-0 xl:pt-0">
              <InboxLink className={quiet} />
              <button type="button" onClick={toggleTheme} className={`${quiet} aria-pressed:text-accent`} aria-pressed={dark} title="Dark theme">
                <span aria-hidden="true">{dark ? "☾" : "☼"}</span>
                {/* One row on wide screens has room for the symbol only. */}
                <span className="ml-1.5 xl:sr-only">Dark theme</span>
              </button>
              <NavLink to="/account" className={`${quiet} xl:max-w-64 xl:truncate`} title="My account">
                {user.display_name || user.username} · <span className="font-mono text-xs">{user.role}</span>
              </NavLink>
              <button type="button" onClick={logout} className={quiet}>
                Sign out
              </button>
            </div>
          </div>
        </div>
      </header>
      <div id="content">
        <Outlet />
      </div>
    </div>
  );
}
