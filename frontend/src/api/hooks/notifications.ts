// The inbox: my notices, the unread count the navigation shows, marking read.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../client";

export const notificationKeys = {
  all: ["notifications"],
  page: (unreadOnly: boolean, offset: number) => ["notifications", unreadOnly, offset],
  unread: ["notifications", "unread-count"],
};

/** How often the navigation asks for the unread count. */
const UNREAD_POLL_MS = 30_000;

/** A page of 50 of my notices, newest first. */
export function useNotifications(unreadOnly: boolean, offset: number) {
  return useQuery({
    queryKey: notificationKeys.page(unreadOnly, offset),
    queryFn: () =>
      unwrap(api.GET("/api/v1/notifications", { params: { query: { unread: unreadOnly, limit: 50, offset } } })),
    placeholderData: keepPreviousData,
  });
}

export function useUnreadCount() {
  return useQuery({
    queryKey: notificationKeys.unread,
    queryFn: () => unwrap(api.GET("/api/v1/notifications/unread-count")),
    refetchInterval: UNREAD_POLL_MS,
  });
}

/** Marks one notice read, or all of them when `id` is absent. */
export function useMarkRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id?: string): Promise<void> => {
      if (id) await unwrap(api.POST("/api/v1/notifications/{id}/read", { params: { path: { id } } }));
      else await unwrap(api.POST("/api/v1/notifications/read-all"));
    },
    onSuccess: () => client.invalidateQueries({ queryKey: notificationKeys.all }),
  });
}
