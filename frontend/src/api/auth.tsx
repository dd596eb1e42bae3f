import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, type ReactNode } from "react";
import type { Role } from "../lib/workflow";
import { api, type Schemas, unwrap } from "./client";

export type User = Schemas["UserView"];

const UserContext = createContext<User | null>(null);

/** The signed-in user; only rendered inside <RequireUser>. */
export function useUser(): User {
  const user = useContext(UserContext);
  if (!user) throw new Error("useUser outside a signed-in page");
  return user;
}

export function hasRole(user: User, ...roles: Role[]): boolean {
  return roles.includes(user.role as Role);
}

export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: () => unwrap(api.GET("/api/v1/auth/me")),
    retry: false,
    staleTime: 60_000,
  });
}

export function UserProvider({ user, children }: { user: User; children: ReactNode }) {
  return <UserContext.Provider value={user}>{children}</UserContext.Provider>;
}

export function useLogout() {
  const client = useQueryClient();
  return async () => {
    await api.POST("/api/v1/auth/logout").catch(() => undefined);
    client.clear();
    window.location.assign("/login");
  };
}
