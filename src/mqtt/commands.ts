import type { Logger } from '../log/logger.ts';
import type { PrivacyAudit, ShutterController } from '../privacy/controller.ts';
import type { MqttCommand } from './topics.ts';

/** Who MQTT commands act as, in the shutter's history and the audit log. */
export const MQTT_ACTOR = 'mqtt';

export interface CommandDeps {
  shutter: Pick<ShutterController, 'set' | 'reportPresence' | 'setArmed' | 'setTriggered'>;
  audit?: PrivacyAudit;
  logger: Logger;
}

/**
 * Carries out a command the broker delivered (its ACL decided who may publish it). Shutter and
 * intrusion changes are audited by the controller with MQTT as the actor; a presence report is
 * audited here, the shutters it moves by the controller. Failures are error lines, never thrown.
 */
export async function runCommand(command: MqttCommand, deps: CommandDeps): Promise<void> {
  const { shutter, logger } = deps;
  try {
    if (command.kind === 'shutter') {
      await shutter.set(command.camera, command.state, MQTT_ACTOR);
    } else if (command.kind === 'presence') {
      const changed = shutter.reportPresence(command.resident, command.state, 'mqtt');
      deps.audit?.record('settings_changed', { actor: MQTT_ACTOR }, `privacy.presence.${command.resident}`, { state: command.state, changed });
    } else if (command.action === 'trigger') {
      if (!shutter.setTriggered(true, MQTT_ACTOR)) logger.error({ command: 'intrusion trigger' }, 'MQTT command ignored: the alarm is not armed');
    } else {
      shutter.setArmed(command.action === 'arm', MQTT_ACTOR);
    }
    logger.info({ command }, 'MQTT command');
  } catch (err) {
    logger.error({ command, err: (err as Error).message }, 'MQTT command failed');
  }
}
