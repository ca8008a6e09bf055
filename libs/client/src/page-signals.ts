import type { ClientEnvironment } from './types';

export interface PageReactions {
  online(): void;
  offline(): void;
  /** The page became visible again (after sleep, a background tab): check the socket now. */
  visible(): void;
  pagehide(): void;
  pageshow(): void;
}

/** The browser's globals where they exist; in Node, nothing. */
export function defaultEnvironment(): ClientEnvironment {
  const global = globalThis as unknown as ClientEnvironment & { window?: unknown };
  if (typeof global.window !== 'object') return {};
  return {
    window: global.window,
    document: global.document,
    navigator: global.navigator,
  };
}

/** Subscribes the reactions to the environment's events; returns the unsubscribe. */
export function listenToPage(environment: ClientEnvironment, reactions: PageReactions): () => void {
  const subscriptions: Array<() => void> = [];
  const listen = (target: ClientEnvironment['window'], type: string, handler: () => void) => {
    if (!target) return;
    const listener = () => handler();
    target.addEventListener(type, listener);
    subscriptions.push(() => target.removeEventListener(type, listener));
  };
  listen(environment.window, 'online', () => reactions.online());
  listen(environment.window, 'offline', () => reactions.offline());
  listen(environment.window, 'pagehide', () => reactions.pagehide());
  listen(environment.window, 'pageshow', () => reactions.pageshow());
  listen(environment.document, 'visibilitychange', () => {
    if (environment.document?.visibilityState !== 'hidden') reactions.visible();
  });
  return () => subscriptions.splice(0).forEach((unsubscribe) => unsubscribe());
}

/** False only when the environment says it is offline. */
export function isOnline(environment: ClientEnvironment): boolean {
  return environment.navigator?.onLine !== false;
}
