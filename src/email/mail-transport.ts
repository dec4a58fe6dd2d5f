import { Logger } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Where mail goes. Injectable so tests and environments choose; SMTP when SMTP_URL is set. */
export abstract class MailTransport {
  abstract send(mail: Mail): Promise<void>;
}

/** The default: records that a mail was sent without its body, which holds a secret code. */
export class LogMailTransport extends MailTransport {
  private readonly logger = new Logger('Mail');

  async send(mail: Mail): Promise<void> {
    this.logger.log(`mail "${mail.subject}" to ${mask(mail.to)} (body not logged; the code is in Redis for development)`);
  }
}

export class SmtpMailTransport extends MailTransport {
  private readonly transporter: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    super();
    this.transporter = createTransport(url);
  }

  async send(mail: Mail): Promise<void> {
    await this.transporter.sendMail({ from: this.from, ...mail });
  }
}

function mask(email: string): string {
  const [local, domain] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}
