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
  @ApiProperty({ description: 'the device making this request' }) current: boolean;
}
