export { FanoutModule } from './fanout.module';
export type { BroadcastListener, ControlListener, FanoutListener } from './redis-fanout';
export { RedisFanout } from './redis-fanout';
export type { GatewayPresence, UserPresence } from './redis-presence';
export { RedisPresence } from './redis-presence';
