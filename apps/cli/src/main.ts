import 'reflect-metadata';
import { InvalidConfigError, loadAppConfig } from '@app/config';
import { Command, CommanderError } from 'commander';
import { listTasks } from './commands/tasks.command';
import { notify } from './commands/notify.command';
import { disconnectUser, revokeTokens } from './commands/sessions.command';
import { preflight } from './commands/preflight.command';
import { mintToken } from './commands/token.command';
import { EXIT_RUNTIME_ERROR, EXIT_USAGE_ERROR, ServicesUnreachableError, UsageError } from './cli-errors';

/**
 * `npm run cli -- <command>`: tools for trying and operating the service. Reads the same
 * configuration as the apps (environment, then `.env`). Output goes to stdout, errors to stderr;
 * exit status 0 on success, 1 when the command fails while running, 2 when it is called wrongly.
 */
const program = new Command('cli')
  .description('notification-service command line: mint tokens, publish notifications, list task results, end sessions')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

program
  .command('token')
  .description('Mint an access token for a user, signed with JWT_SECRET (HS*) or --private-key (RS*/ES*)')
  .argument('<user_id>', 'the user the token is for')
  .option('--admin', 'mark the token is_staff, for the admin REST API')
  .option('--ttl <duration>', 'lifetime: seconds, or a number ending in s, m, h or d', '1h')
  .option('--private-key <file>', 'PEM private key of the issuer, needed when JWT_ALGORITHM is RS* or ES*')
  .action((userId: string, options) => {
    console.log(mintToken(loadAppConfig(), userId, options));
  });

program
  .command('notify')
  .description('Publish a notification to a user over AMQP (publisher confirms) and print its task id')
  .argument('<user_id>', 'the recipient')
  .argument('<message>', 'the notification: JSON when it parses as JSON, else the text as it is')
  .option('--task-id <id>', 'the task id to use (default: a new UUID)')
  .action(async (userId: string, message: string, options) => {
    console.log(await notify(loadAppConfig(), userId, message, options));
  });

program
  .command('tasks')
  .description('List the most recent task results from Postgres, newest first')
  .option('--status <status>', 'only results in this Celery state (SUCCESS, FAILURE, ...)')
  .option('--limit <n>', 'how many, 1-500', '20')
  .action(async (options) => {
    console.log(await listTasks(loadAppConfig(), options));
  });

program
  .command('disconnect')
  .description("Close every socket of a user on every gateway (close code 4003); the user's tokens stay valid")
  .argument('<user_id>', 'the user')
  .option('--reason <text>', 'sent as the close reason, at most 123 bytes')
  .option('--url <url>', 'a gateway of the cluster (default: http://127.0.0.1:$PORT)')
  .action(async (userId: string, options) => {
    console.log(await disconnectUser(loadAppConfig(), userId, options));
  });

program
  .command('revoke')
  .description(
    "Log a user out everywhere: refuse the user's tokens issued until now, on every gateway, and close their sockets",
  )
  .argument('<user_id>', 'the user')
  .option('--url <url>', 'a gateway of the cluster (default: http://127.0.0.1:$PORT)')
  .action(async (userId: string, options) => {
    console.log(await revokeTokens(loadAppConfig(), userId, options));
  });

program
  .command('preflight')
  .description('Check that Postgres, Redis and RabbitMQ answer where the config says; say how to start any that do not')
  .action(async () => {
    const unreachable = await preflight(loadAppConfig());
    if (unreachable) throw new ServicesUnreachableError(unreachable);
  });

async function main(): Promise<number> {
  if (process.argv.length <= 2) {
    program.outputHelp({ error: true });
    return EXIT_USAGE_ERROR;
  }
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return error.exitCode === 0 ? 0 : EXIT_USAGE_ERROR;
    }
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}`);
      return EXIT_USAGE_ERROR;
    }
    const prefix = error instanceof InvalidConfigError || error instanceof ServicesUnreachableError ? '' : 'error: ';
    console.error(`${prefix}${(error as Error).message}`);
    return EXIT_RUNTIME_ERROR;
  }
}

void main().then((status) => (process.exitCode = status));
