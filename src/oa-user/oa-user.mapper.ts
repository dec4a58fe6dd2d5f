import { OaUser } from './oa-user.entity';

export function toOaUserView(user: OaUser) {
  return { id: user.id, phone: user.phone, name: user.name, role: user.role, status: user.status };
}
