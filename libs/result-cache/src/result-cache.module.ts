import { Module } from '@nestjs/common';
import { ResultCacheWriter } from './result-cache.writer';

@Module({ providers: [ResultCacheWriter], exports: [ResultCacheWriter] })
export class ResultCacheModule {}
