import type { Startable } from "../lifecycle.js";
import { readFile } from "node:fs/promises";
import {
  type ConnectionInjector,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { failedPrecondition } from "../errors.js";
import type { Operators } from "../operators/index.js";
import type { Roster } from "../roster/index.js";
import type { CharterAdmin } from "../federation/index.js";
import type { KeyRotation } from "../identity/index.js";
import { FederationServiceService, KeyServiceService, federationService, keyService } from "./federation-service.js";
import {
  AuditServiceService,
  auditService,
  CoreServiceService,
  coreService,
  type CoreServiceComponents,
} from "./core-service.js";
import type { AuditSources } from "../audit/index.js";
import type { Credentials } from "../credentials/index.js";
import { CredentialServiceService, credentialService } from "./credential-service.js";
import { AvailabilityServiceService, availabilityService } from "./availability-service.js";
import type { Availability } from "../query/index.js";
import { BookingServiceService, bookingService } from "./booking-service.js";
import type { Bookings } from "../bookings/index.js";
import { CaseServiceService, caseService } from "./case-service.js";
import type { Cases } from "../cases/index.js";
import { DeliveryServiceService, deliveryService } from "./delivery-service.js";
import { EvaluationServiceService, evaluationService } from "./evaluation-service.js";
import type { Deliveries } from "../deliveries/index.js";
import type { Audits } from "../audits/index.js";
import { GrievanceServiceService, grievanceService } from "./grievance-service.js";
import type { Grievances } from "../grievances/index.js";
import { FeedbackServiceService, feedbackService } from "./feedback-service.js";
import type { Feedback } from "../feedback/index.js";
import { PlanServiceService, planService } from "./plan-service.js";
import type { Plans } from "../plans/index.js";
import { ReportServiceService, reportService } from "./report-service.js";
import type { Reports } from "../reports/index.js";
import { NodeServiceService, nodeService, type NodeServiceComponents } from "./node-service.js";
import { OperatorServiceService, operatorService } from "./operator-service.js";
import { TrainerServiceService, trainerService } from "./trainer-service.js";
import { guardRequests } from "./decoding.js";
import { authenticationInterceptor } from "./handlers.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The largest message the API port reads. grpc-js refuses a larger one with RESOURCE_EXHAUSTED as
 * soon as its length prefix arrives, before buffering any of it. The largest legitimate API
 * requests are the bulk ones — a CASE package or Moodle CSV (ImportCore), a folder of cases
 * (ImportCases), an xAPI statements file (IngestStatements), one message of a trainer import
 * stream — and the largest single record, a case with a 200,000-character body (at most 0.6 MiB
 * as UTF-8); the committed SSR CASE package is 47 KB. The Replicate stream served on the same port
 * carries sync payloads in parts of at most 1 MiB (node/network/grpc-adapter.ts).
 */
export const API_MAX_RECEIVE_MESSAGE_BYTES = 4 * MiB;

/** What a method that is not listed takes: lookups, lists, queries and small writes. */
export const DEFAULT_REQUEST_BYTES = 64 * KiB;

/** Methods that take more than DEFAULT_REQUEST_BYTES per request message. */
const REQUEST_BYTES: Readonly<Record<string, number>> = {
  // one record each, at its validators' limits (test/api/request-limits.test.ts sends the largest valid ones)
  "/concordat.v1.TrainerService/AddTrainer": 1 * MiB,
  "/concordat.v1.TrainerService/UpdateTrainer": 1 * MiB,
  "/concordat.v1.CaseService/AddCase": 1 * MiB,
  "/concordat.v1.CaseService/UpdateCase": 1 * MiB,
  "/concordat.v1.CoreService/PutCurriculumRecord": 1 * MiB,
  "/concordat.v1.CoreService/ReleaseCore": 256 * KiB,
  "/concordat.v1.FeedbackService/Propose": 1 * MiB,
  "/concordat.v1.FeedbackService/CommentProposal": 256 * KiB,
  "/concordat.v1.FeedbackService/DecideProposal": 256 * KiB,
  "/concordat.v1.CoreService/RemoveCoreRecords": 256 * KiB,
  "/concordat.v1.CredentialService/IssueCredential": 256 * KiB,
  "/concordat.v1.CredentialService/AttachCredential": 256 * KiB,
  "/concordat.v1.CredentialService/VerifyCredential": 256 * KiB,
  // bulk: files and imports
  "/concordat.v1.TrainerService/ImportTrainers": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.CaseService/ImportCases": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.CoreService/ImportCore": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.CoreService/PutCoreRecords": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.DeliveryService/IngestStatements": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.DeliveryService/IngestAssessment": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.DeliveryService/IngestScores": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.DeliveryService/RecordAssessments": 1 * MiB,
  "/concordat.v1.EvaluationService/ImportFollowUps": API_MAX_RECEIVE_MESSAGE_BYTES,
  "/concordat.v1.PlanService/SetPlan": 1 * MiB,
  "/concordat.v1.PlanService/AddPlanLines": 256 * KiB,
};

/** The largest request message `path` decodes. */
export function maxRequestBytes(path: string): number {
  return REQUEST_BYTES[path] ?? DEFAULT_REQUEST_BYTES;
}

export interface ApiServerInit {
  host: string;
  port: number;
  /** Services served beside the API on the same port (the Replicate stream), with their own authentication. */
  extraServices?: Array<{ definition: ServiceDefinition; implementation: UntypedServiceImplementation }>;
  tls?: { cert: string; key: string };
  /** Grace period for in-flight calls on stop before they are cut. */
  shutdownGraceMs?: number;
  /** Named in the headers of every answer (IDENTITY_HEADERS), so that a client can tell which node it reached. */
  identity?: { hubId: string; peerId: string };
}

/**
 * Response headers naming the node, sent on every answer, the open health check included: the CLI
 * checks with them that the node at an address is the hub of the data directory it was given
 * (cli/connection.ts). Both are public: the charter names every member's hub id and peer id.
 */
export const IDENTITY_HEADERS = { hubId: "concordat-hub-id", peerId: "concordat-peer-id" } as const;

function identityInterceptor(identity: { hubId: string; peerId: string }): ServerInterceptor {
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      sendMetadata: (metadata, next) => {
        metadata.set(IDENTITY_HEADERS.hubId, identity.hubId);
        metadata.set(IDENTITY_HEADERS.peerId, identity.peerId);
        next(metadata);
      },
    });
}

export interface ApiServerComponents extends NodeServiceComponents, Omit<CoreServiceComponents, "info"> {
  operators: Operators;
  roster: Roster;
  charter: CharterAdmin;
  keys: KeyRotation;
  credentials: Credentials;
  availability: Availability;
  bookings: Bookings;
  cases: Cases;
  deliveries: Deliveries;
  audits: Audits;
  plans: Plans;
  grievances: Grievances;
  feedback: Feedback;
  reports: Reports;
  /** What an audit bundle is built from (read at the time of the call). */
  audit: () => Promise<AuditSources>;
  logger: Logger;
}

/** Services whose health the standard grpc.health.v1 service reports ("" = the whole node). */
const HEALTH_SERVICES = [
  "",
  "concordat.v1.TrainerService",
  "concordat.v1.OperatorService",
  "concordat.v1.NodeService",
  "concordat.v1.FederationService",
  "concordat.v1.KeyService",
  "concordat.v1.CoreService",
  "concordat.v1.AuditService",
  "concordat.v1.CredentialService",
  "concordat.v1.AvailabilityService",
  "concordat.v1.BookingService",
  "concordat.v1.CaseService",
  "concordat.v1.DeliveryService",
  "concordat.v1.EvaluationService",
  "concordat.v1.PlanService",
  "concordat.v1.GrievanceService",
  "concordat.v1.FeedbackService",
  "concordat.v1.ReportService",
];

/** The node's gRPC API: Trainer, Operator, Node, Federation and Key services plus the standard health service. */
export class ApiServer implements Startable {
  readonly #init: ApiServerInit;
  readonly #components: ApiServerComponents;
  readonly #log: Logger;
  #server: Server | undefined;
  #health: HealthImplementation | undefined;
  #address = "";

  constructor(init: ApiServerInit, components: ApiServerComponents) {
    this.#init = init;
    this.#components = components;
    this.#log = components.logger;
  }

  /** `host:port` the server listens on (the real port when configured with 0). */
  get address(): string {
    return this.#address;
  }

  get tls(): boolean {
    return this.#init.tls !== undefined;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const server = new Server({
      "grpc.max_receive_message_length": API_MAX_RECEIVE_MESSAGE_BYTES,
      interceptors: [
        ...(this.#init.identity ? [identityInterceptor(this.#init.identity)] : []),
        authenticationInterceptor(this.#components),
      ],
    });
    for (const extra of this.#init.extraServices ?? []) server.addService(extra.definition, extra.implementation);
    // Every API service decodes its requests through one guard: size per method, strict UTF-8,
    // and a decode failure answered INVALID_ARGUMENT through the error boundary (decoding.ts).
    const guard = { maxBytes: maxRequestBytes, metrics: this.#components.metrics };
    const add = <D extends ServiceDefinition>(definition: D, implementation: UntypedServiceImplementation) =>
      server.addService(guardRequests(definition, guard), implementation);
    add(TrainerServiceService, trainerService(this.#components));
    add(OperatorServiceService, operatorService(this.#components));
    add(NodeServiceService, nodeService(this.#components));
    add(FederationServiceService, federationService(this.#components));
    add(KeyServiceService, keyService(this.#components));
    add(CoreServiceService, coreService(this.#components));
    add(AuditServiceService, auditService(this.#components));
    add(CredentialServiceService, credentialService(this.#components));
    add(AvailabilityServiceService, availabilityService(this.#components));
    add(BookingServiceService, bookingService(this.#components));
    add(CaseServiceService, caseService(this.#components));
    add(DeliveryServiceService, deliveryService(this.#components));
    add(EvaluationServiceService, evaluationService(this.#components));
    add(PlanServiceService, planService(this.#components));
    add(GrievanceServiceService, grievanceService(this.#components));
    add(FeedbackServiceService, feedbackService(this.#components));
    add(ReportServiceService, reportService(this.#components));
    const health = new HealthImplementation(
      Object.fromEntries(HEALTH_SERVICES.map((s) => [s, "NOT_SERVING" as const])),
    );
    health.addToServer(server);

    const credentials = await this.#credentials();
    const host =
      this.#init.host.includes(":") && !this.#init.host.startsWith("[") ? `[${this.#init.host}]` : this.#init.host;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${this.#init.port}`, credentials, (error, bound) => {
        if (error) {
          reject(failedPrecondition(`cannot listen on ${host}:${this.#init.port}: ${error.message}`));
        } else {
          resolve(bound);
        }
      });
    });
    this.#server = server;
    this.#health = health;
    this.#address = `${host}:${port}`;
    for (const s of HEALTH_SERVICES) health.setStatus(s, "SERVING");
    this.#log.info({ address: this.#address, tls: this.tls }, "API listening");
  }

  /**
   * Hands connections made inside this process to the gRPC server as if they had come to its port
   * (plaintext: they never leave the process). The web console's gRPC-Web bridge calls the API
   * through one (node/console/bridge.ts), so its calls pass every interceptor and handler.
   */
  connectionInjector(): ConnectionInjector {
    if (!this.#server) throw failedPrecondition("the API is not started");
    return this.#server.createConnectionInjector(ServerCredentials.createInsecure());
  }

  async #credentials(): Promise<ServerCredentials> {
    const tls = this.#init.tls;
    if (!tls) return ServerCredentials.createInsecure();
    const read = async (path: string, what: string) =>
      readFile(path).catch((error: NodeJS.ErrnoException) => {
        throw failedPrecondition(`cannot read api.tls.${what} '${path}': ${error.code ?? error.message}`);
      });
    const [cert, key] = await Promise.all([read(tls.cert, "cert"), read(tls.key, "key")]);
    return ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
  }

  /** Stops accepting calls, lets in-flight ones finish within the grace period, then cuts the rest. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const s of HEALTH_SERVICES) this.#health?.setStatus(s, "NOT_SERVING");
    const grace = this.#init.shutdownGraceMs ?? 5000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, grace);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#log.info("API stopped");
  }
}
