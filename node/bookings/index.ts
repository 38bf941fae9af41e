export * from "./model.js";
export { Bookings } from "./bookings.js";
export { BookingDecisions, engagementsSpec } from "./deciding.js";
export { BookingLedger, type Booking, type BookingFilter } from "./ledger.js";
export { BookingRequests, outboxSpec } from "./requesting.js";
