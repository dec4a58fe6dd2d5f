/** `status` of app_users and oa_users (CONTRACT section 4): shared by both, below every feature. */
export enum UserStatus {
  Active = 1,
  Disabled = 2,
}
