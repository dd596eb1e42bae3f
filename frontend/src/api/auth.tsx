import { createContext, useContext, type ReactNode } from "react";
import type { Schemas } from "./client";
import type { Role } from "./enums";

export type User = Schemas["UserView"];

const UserContext = createContext<User | null>(null);

/** The signed-in user; only rendered inside <RequireUser>. */
export function useUser(): User {
  const user = useContext(UserContext);
  if (!user) throw new Error("useUser outside a signed-in page");
  return user;
}

export function hasRole(user: User, ...roles: Role[]): boolean {
  return roles.includes(user.role);
}

export function UserProvider({ user, children }: { user: User; children: ReactNode }) {
  return <UserContext.Provider value={user}>{children}</UserContext.Provider>;
}
