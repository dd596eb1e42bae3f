import { useEffect, useState } from "react";
import { NavLink, Outlet } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { useLogout } from "../api/hooks/session";

function useTheme(): [boolean, () => void] {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains("dark"));
  useEffect(() => {
    document.documentElement.classList.toggle("dark", dark);
    localStorage.setItem("aegis-theme", dark ? "dark" : "light");
  }, [dark]);
  return [dark, () => setDark((d) => !d)];
}

export function Layout() {
  const user = useUser();
  const logout = useLogout();
  const [dark, toggleTheme] = useTheme();
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
  return (
    <div className="min-h-screen">
      <a href="#content" className="sr-only focus:not-sr-only">
        Skip to content
      </a>
      <header className="border-b border-line bg-panel">
        <nav aria-label="Main" className="mx-auto flex max-w-[1600px] flex-wrap items-center gap-1 px-4 py-2 lg:px-8">
          <span className="mr-4 text-lg font-bold tracking-tight">
            <span className="text-red-side">Ae</span>
            <span className="text-blue-side">gis</span>
          </span>
          {links.map(([to, label]) => (
            <NavLink
              key={to}
              to={to}
              end={to === "/"}
              className={({ isActive }) =>
                `rounded-md px-3 py-1.5 text-sm ${isActive ? "bg-accent/15 font-semibold text-accent" : "text-muted hover:text-ink"}`
              }
            >
              {label}
            </NavLink>
          ))}
          <div className="ml-auto flex items-center gap-3 text-sm">
            <button onClick={toggleTheme} className="rounded-md px-2 py-1 text-muted hover:text-ink" aria-label="Toggle dark theme">
              {dark ? "Light" : "Dark"}
            </button>
            <NavLink to="/account" className="text-muted hover:text-ink" title="My account">
              {user.display_name || user.username} · <span className="font-mono text-xs">{user.role}</span>
            </NavLink>
            <button onClick={logout} className="rounded-md px-2 py-1 text-muted hover:text-ink">
              Sign out
            </button>
          </div>
        </nav>
      </header>
      <div id="content">
        <Outlet />
      </div>
    </div>
  );
}
