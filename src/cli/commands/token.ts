// tabula token create NAME | list | revoke NAME
import type { Command } from 'commander';
import { type Session, action } from '../context.js';

export function registerToken(program: Command, session: Session): void {
  const token = program.command('token').description('API bearer tokens');

  token
    .command('create')
    .description('create a token and print it (once: only its hash is stored)')
    .argument('<name>', 'token name (letters, digits, _ . -)')
    .action(
      action(session, (ctx, [name]) => {
        const created = ctx.engine().createToken(name as string);
        if (ctx.json) {
          ctx.print(created, () => '');
          ctx.err(`note: token '${created.name}' is shown only this once; it cannot be shown again\n`);
          return;
        }
        // The token alone on stdout, so that TOKEN=$(tabula token create NAME) works; the note on stderr.
        ctx.out(`${created.token}\n`);
        ctx.err(`token '${created.name}' created; store it now: it cannot be shown again\n`);
      }),
    );

  token
    .command('list')
    .description('list tokens (names and use, never the tokens)')
    .action(
      action(session, (ctx) => {
        const tokens = ctx.engine().listTokens();
        ctx.print(tokens, () =>
          ctx.table(
            [
              { header: 'NAME', value: (t) => t.name },
              { header: 'CREATED', value: (t) => t.createdAt },
              { header: 'LAST USED', value: (t) => t.lastUsedAt },
            ],
            tokens,
          ),
        );
      }),
    );

  token
    .command('revoke')
    .description('revoke a token: requests bearing it are refused from now on')
    .argument('<name>', 'token name')
    .action(
      action(session, (ctx, [name]) => {
        ctx.engine().revokeToken(name as string);
        ctx.done({ revoked: { token: name } }, `token '${name as string}' revoked`);
      }),
    );
}
