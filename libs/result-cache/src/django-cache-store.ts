/** One cache entry: the key as Django's key function made it, the value as Django pickled it. */
export interface CacheEntry {
  key: string;
  value: Buffer;
}

/** A Django cache backend's storage, written as Django's own backend writes it. */
export interface DjangoCacheStore {
  /** Sets every entry; `timeoutSeconds` 0 means no expiry (Django's timeout None). */
  setMany(entries: CacheEntry[], timeoutSeconds: number): Promise<void>;
  close(): Promise<void>;
}
