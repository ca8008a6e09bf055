import { DynamicModule, Module } from '@nestjs/common';
import type { RuntimeConfig } from '@app/config';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';

/** Strips credentials from a logged URL: tokens in query strings end up in log stores otherwise. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&](?:token|access_token)=)[^&]*/gi, '$1[REDACTED]');
}

export function prettyLogs(config: RuntimeConfig, stdout: { isTTY?: boolean } = process.stdout): boolean {
  return config.NODE_ENV === 'development' && stdout.isTTY === true;
}

/**
 * Structured JSON logs through pino, one line per event. Tokens never reach the log: the headers
 * that carry them are redacted and so is the `token` query parameter.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: RuntimeConfig, service: string): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            base: { service },
            redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["sec-websocket-protocol"]'],
            serializers: {
              req: (req: IncomingMessage & { id?: unknown }) => ({
                id: req.id,
                method: req.method,
                url: redactUrl(req.url),
              }),
            },
            // Readable lines for a developer at a terminal; JSON everywhere else (files, pipes, containers).
            transport: prettyLogs(config)
              ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } }
              : undefined,
          },
        }),
      ],
    };
  }
}
