import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export class BindInviteCodeDto {
  @ApiProperty({ pattern: '^[A-Za-z0-9]{4,16}$' })
  @IsString()
  @Matches(/^[A-Za-z0-9]{4,16}$/, { message: 'inviteCode must be 4-16 letters or digits' })
  inviteCode: string;
}

export class BindInviteCodeResponse {
  @ApiProperty({ description: 'the user whose code it is' }) referrerId: number;
}
