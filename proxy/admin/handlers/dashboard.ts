// GET /dashboard: the live dashboard, one self-contained page (dashboard/page.html, read on the
// first request); GET /dashboard/events: its server-sent events, one frame a second while a page
// is open (dashboard/feed.ts).
import { readFileSync } from 'node:fs';
import type { AdminContext, AdminHandler, AdminStreamHandler } from '../context.ts';
import { DashboardFeed } from '../dashboard/feed.ts';

let page: string | undefined;

export const dashboardPage: AdminHandler = () => {
  page ??= readFileSync(new URL('../dashboard/page.html', import.meta.url), 'utf8');
  return { status: 200, contentType: 'text/html; charset=UTF-8', body: page };
};

const feeds = new WeakMap<AdminContext, DashboardFeed>();

/** The admin's one feed (every open page shares its samples). */
export function dashboardFeed(ctx: AdminContext): DashboardFeed {
  let feed = feeds.get(ctx);
  if (feed === undefined) feeds.set(ctx, (feed = new DashboardFeed(ctx)));
  return feed;
}

export const dashboardEvents: AdminStreamHandler = (ctx) => ({
  status: 200,
  contentType: 'text/event-stream; charset=UTF-8',
  open: (sink) => dashboardFeed(ctx).attach(sink),
});
