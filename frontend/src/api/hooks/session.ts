// The signed-in session: who am I, sign in and out, my password.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../client";

export const sessionKeys = {
  me: ["me"],
};

export function useMe() {
  return useQuery({
    queryKey: sessionKeys.me,
    queryFn: () => unwrap(api.GET("/api/v1/auth/me")),
    retry: false,
    staleTime: 60_000,
  });
}

/** Signs in and remembers the user, so the pages need not ask again. */
export function useLogin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["LoginRequest"]) => unwrap(api.POST("/api/v1/auth/login", { body })),
    onSuccess: (result) => {
      client.setQueryData(sessionKeys.me, result.user);
    },
  });
}

export function useLogout() {
  const client = useQueryClient();
  return async () => {
    await api.POST("/api/v1/auth/logout").catch(() => undefined);
    client.clear();
    window.location.assign("/login");
  };
}

/** Changes my password; the answer is my new session (its cookies are set). */
export function useChangePassword() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["ChangePasswordRequest"]) => unwrap(api.POST("/api/v1/auth/password", { body })),
    onSuccess: (result) => {
      client.setQueryData(sessionKeys.me, result.user);
    },
  });
}

/** Changes my display name or e-mail address (`email: null` removes it). */
export function useUpdateMe() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["UpdateMeRequest"]) => unwrap(api.PATCH("/api/v1/auth/me", { body })),
    onSuccess: (user) => {
      client.setQueryData(sessionKeys.me, user);
    },
  });
}
