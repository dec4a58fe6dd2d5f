import { ApiProperty } from '@nestjs/swagger';
import { IDENTIFIER_PATTERN, IsDeviceIdentifier } from '../common/validation';
import type { DeviceView } from './device-manager.service';

export class DeviceIdentifierParam {
  @ApiProperty({ pattern: IDENTIFIER_PATTERN.source }) @IsDeviceIdentifier() identifier: string;
}

export class DeviceResponse implements DeviceView {
  @ApiProperty() identifier: string;
  @ApiProperty() name: string;
  @ApiProperty() platform: string;
  @ApiProperty({ description: 'a socket of the device is connected to some process' }) online: boolean;
  @ApiProperty({ description: 'the device making this request (always false when staff ask)' }) current: boolean;
  @ApiProperty({ description: 'the device has a live session of this account' }) signedIn: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when the live session was issued; null when not signed in' })
  signedInAt: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'when the live session was last used (a request, a socket connection or event, an open socket), to the minute; null when not signed in',
  })
  lastActiveAt: string | null;
}

export class SignedOutResponse {
  @ApiProperty({ description: 'how many devices were signed out' }) signedOut: number;
}
