export { FanoutModule } from './fanout.module';
export type { FanoutListener } from './redis-fanout';
export { RedisFanout } from './redis-fanout';
