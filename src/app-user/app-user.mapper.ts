import { AppUser } from './app-user.entity';

export interface AppUserView {
  id: number;
  phone: string | null;
  email: string | null;
  nickname: string;
  status: number;
  referCode: string;
  referrerId: number | null;
}

export function toAppUserView(user: AppUser): AppUserView {
  return {
    id: user.id,
    phone: user.phone,
    email: user.email,
    nickname: user.nickname,
    status: user.status,
    referCode: user.referCode,
    referrerId: user.referrerId,
  };
}

export interface AdminAppUserView extends AppUserView {
  disabledUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toAdminAppUserView(user: AppUser): AdminAppUserView {
  return {
    ...toAppUserView(user),
    disabledUntil: user.disabledUntil ? iso(user.disabledUntil) : null,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
  };
}

function iso(date: Date | string): string {
  return date instanceof Date ? date.toISOString() : String(date);
}
