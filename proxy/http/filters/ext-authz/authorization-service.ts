// What the ext_authz filter asks of an authorization service, whichever protocol it speaks
// (Envoy's Filters::Common::ExtAuthz::Client and Response): one check per request, answered OK
// (with mutations of the request and the response), Denied (with the answer to send the client)
// or Error (the service failed, timed out or could not be reached).
import type { StreamInfo } from '../../../access-log/index.ts';
import type { Cancellable } from '../../../upstream/index.ts';
import type { CheckRequest } from './check-request.ts';

export type HeaderList = [name: string, value: string][];

export type AuthorizationResponse =
  | {
      status: 'ok';
      headersToSet: HeaderList; // overwrite upstream
      headersToAdd: HeaderList; // another entry upstream
      headersToAppend: HeaderList; // appended with ',' to an existing header only
      headersToRemove: string[];
      responseHeadersToAdd: HeaderList;
      responseHeadersToSet: HeaderList;
      responseHeadersToAddIfAbsent: HeaderList;
      responseHeadersToOverwriteIfExists: HeaderList;
      queryParametersToSet: HeaderList;
      queryParametersToRemove: string[];
    }
  | { status: 'denied'; httpStatus: number; headers: HeaderList; body: string }
  | { status: 'error' };

export interface AuthorizationService {
  /**
   * Asks once; `done` is called exactly once unless the returned handle is cancelled first. `info`
   * is the request's (headers the service gets may be formatted from it).
   */
  check(request: CheckRequest, info: StreamInfo, done: (response: AuthorizationResponse) => void): Cancellable;
}

export function okResponse(): Extract<AuthorizationResponse, { status: 'ok' }> {
  return {
    status: 'ok',
    headersToSet: [],
    headersToAdd: [],
    headersToAppend: [],
    headersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToSet: [],
    responseHeadersToAddIfAbsent: [],
    responseHeadersToOverwriteIfExists: [],
    queryParametersToSet: [],
    queryParametersToRemove: [],
  };
}
