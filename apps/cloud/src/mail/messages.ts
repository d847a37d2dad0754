import type { MailMessage } from './transport.js';

/**
 * The mails the cloud sends, as plain text. Each carries its single-use code
 * on a line of its own (`Code: …`), so a person can copy it into the app and
 * a client can read it back; the API route it goes to is named beside it.
 */

function body(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

export function emailVerificationMail(input: {
  to: string;
  token: string;
  publicUrl: string;
  ttlHours: number;
}): MailMessage {
  return {
    kind: 'email_verification',
    to: input.to,
    subject: 'Confirm your email address for MultiClaw',
    text: body([
      'Hello,',
      '',
      'Someone (we hope you) created a MultiClaw account with this email address.',
      'To confirm that it is yours, enter this code in MultiClaw:',
      '',
      `Code: ${input.token}`,
      '',
      `(The app sends it to ${input.publicUrl}/v1/auth/email/verify.)`,
      `The code works once, for ${input.ttlHours} hours.`,
      '',
      'If you did not create this account, ignore this mail: nothing else happens,',
      'and signing in with single sign-on under this address later takes the account over.',
    ]),
  };
}

export function passwordResetMail(input: {
  to: string;
  token: string;
  publicUrl: string;
  ttlMinutes: number;
}): MailMessage {
  return {
    kind: 'password_reset',
    to: input.to,
    subject: 'Reset your MultiClaw password',
    text: body([
      'Hello,',
      '',
      'Someone (we hope you) asked to reset the password of the MultiClaw account',
      'with this email address. To choose a new password, enter this code in MultiClaw:',
      '',
      `Code: ${input.token}`,
      '',
      `(The app sends it with the new password to ${input.publicUrl}/v1/auth/password/reset.)`,
      `The code works once, for ${input.ttlMinutes} minutes. Resetting signs out every device.`,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ]),
  };
}

/** A workspace name is the inviter's text: no control or invisible characters, and short, in a mail. */
function plainName(name: string): string {
  return name
    .replace(/\p{C}+/gu, ' ')
    .trim()
    .slice(0, 100);
}

export function invitationMail(input: {
  to: string;
  token: string;
  publicUrl: string;
  workspaceName: string;
  role: string;
  expiresAt: Date;
}): MailMessage {
  const workspace = plainName(input.workspaceName);
  return {
    kind: 'invitation',
    to: input.to,
    subject: `You are invited to the MultiClaw workspace "${workspace}"`,
    text: body([
      'Hello,',
      '',
      `You are invited to join the MultiClaw workspace "${workspace}" as ${input.role === 'owner' ? 'an owner' : 'a member'}.`,
      'Sign in to MultiClaw with this email address and accept the invitation with this code:',
      '',
      `Code: ${input.token}`,
      '',
      `(The app sends it to ${input.publicUrl}/v1/invitations/accept.)`,
      `The code works once, until ${input.expiresAt.toISOString()}. Accepting it also confirms this address.`,
      '',
      'If you do not know this workspace, ignore this mail.',
    ]),
  };
}
