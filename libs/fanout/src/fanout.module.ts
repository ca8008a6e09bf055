import { Module } from '@nestjs/common';
import { RedisFanout } from './redis-fanout';

@Module({ providers: [RedisFanout], exports: [RedisFanout] })
export class FanoutModule {}
