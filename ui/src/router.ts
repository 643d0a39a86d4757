// Client routes under /ui/ (the server answers index.html for any of them).
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui/';

export type Route =
  | { view: 'rack' }
  | { view: 'host'; host: string }
  | { view: 'networks'; cluster: string | null }
  | { view: 'templates'; template: string | null }
  | { view: 'missing'; path: string };

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname.replace(/^\/ui/, '').replace(/^\//, '');
  const parts = rest.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  const [first, second] = parts;
  if (first === undefined || first === 'rack') return { view: 'rack' };
  if (first === 'hosts' && second !== undefined) return { view: 'host', host: second };
  if (first === 'networks') return { view: 'networks', cluster: second ?? null };
  if (first === 'templates') return { view: 'templates', template: second ?? null };
  return { view: 'missing', path: rest };
}

export function href(...parts: string[]): string {
  return BASE + parts.map((p) => encodeURIComponent(p)).join('/');
}

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  if (to === location.pathname) return;
  history.pushState(null, '', to);
  for (const fn of listeners) fn();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(location.pathname));
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** An <a> that navigates without reloading (the console keeps its token and its polls). */
export function linkHandler(to: string): (e: MouseEvent) => void {
  return (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
}
